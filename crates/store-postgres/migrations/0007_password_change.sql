-- One-time passwords (set by an admin) must be changed at the next login.
ALTER TABLE users ADD COLUMN password_change_required BOOLEAN NOT NULL DEFAULT false;
