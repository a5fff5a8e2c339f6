//! Provisioning tenants and their first admin (CLI and operator UI share it).
