-- One-time passwords (set by an admin) must be changed at the next login.
ALTER TABLE users ADD COLUMN password_change_required INTEGER NOT NULL DEFAULT 0;
