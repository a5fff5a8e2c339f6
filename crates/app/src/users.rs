//! A tenant admin's work on the tenant's users: create, change, reset a password. The rules
//! live here (which roles a tenant admin may grant, what an admin may not do to their own
//! account, what a platform role protects), so that the admin's page only parses and renders.

use crate::commands::audit;
use crate::error::{Error, Result};
use crate::passwords::{check_password_rules, hash_password_blocking};
use crate::provisioning::{one_time_password, parse_email, parse_name};
use crate::{App, Caller};
use domain::user::normalize_roles;
use domain::{Role, UnitId, UserId, Username};
use std::collections::HashMap;
use store::{NewUser, StorageError, UnitRecord, UserRecord, UserUpdate};

/// What the admin's forms send, as sent.
#[derive(Debug, Clone, Default)]
pub struct UserInput {
    pub display_name: String,
    pub email: String,
    /// Role codes (`Role::as_str`).
    pub roles: Vec<String>,
    /// Unit ids.
    pub units: Vec<String>,
}

/// What both forms set on a user, checked.
struct Profile {
    display_name: String,
    email: Option<String>,
    roles: Vec<Role>,
    units: Vec<UnitId>,
}

fn parse_profile(input: &UserInput, units: &[UnitRecord]) -> Result<Profile> {
    let display_name = parse_name(&input.display_name, "display_name", "Name")?;
    let email = parse_email(&input.email, "email")?;
    let mut roles = Vec::new();
    for value in &input.roles {
        match Role::parse(value).filter(|r| Role::TENANT_ROLES.contains(r)) {
            Some(r) => roles.push(r),
            None => return Err(Error::invalid("roles", "Rollen: Diese Rolle gibt es nicht.")),
        }
    }
    let mut chosen = Vec::new();
    for value in &input.units {
        match UnitId::parse(value).filter(|id| units.iter().any(|u| u.id == *id)) {
            Some(id) => chosen.push(id),
            None => {
                return Err(Error::invalid(
                    "units",
                    "Organisationseinheiten: Diese Einheit gibt es nicht (mehr). Bitte laden Sie die Seite neu.",
                ))
            }
        }
    }
    chosen.sort();
    chosen.dedup();
    Ok(Profile { display_name, email, roles: normalize_roles(roles), units: chosen })
}

fn storage_to_form(e: StorageError) -> Error {
    match e {
        StorageError::Duplicate("username") => {
            Error::invalid("username", "Benutzername: Dieser Benutzername ist bereits vergeben.")
        }
        StorageError::InvalidReference(_) => Error::invalid(
            "units",
            "Organisationseinheiten: Eine gewählte Einheit gibt es nicht (mehr). Bitte laden Sie die Seite neu.",
        ),
        other => other.into(),
    }
}

pub fn role_labels(roles: &[Role]) -> String {
    roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")
}

pub fn unit_names(ids: &[UnitId], names: &HashMap<UnitId, String>) -> String {
    ids.iter().map(|id| names.get(id).map_or("(unbekannt)", String::as_str)).collect::<Vec<_>>().join(", ")
}

fn or_none(s: &str) -> &str {
    if s.is_empty() {
        "keine"
    } else {
        s
    }
}

/// Creates a user of the caller's tenant; returns the username and, when `password` was
/// empty, the generated one. Any password the admin knows is one-time: changed at the first
/// login.
pub async fn create_user(
    app: &App,
    caller: &Caller,
    username: &str,
    password: &str,
    input: &UserInput,
    ip: Option<std::net::IpAddr>,
) -> Result<(String, Option<String>)> {
    let username = Username::parse(username).ok_or_else(|| {
        Error::invalid("username", "Benutzername: 2 bis 64 Zeichen aus Buchstaben, Ziffern und . _ - @.")
    })?;
    let username = username.as_str().to_owned();
    let units = app.tenant_of(caller).list_units().await?;
    let profile = parse_profile(input, &units)?;
    let (password, generated) = if password.is_empty() {
        let pw = one_time_password(&username);
        (pw.clone(), Some(pw))
    } else {
        check_password_rules(password, &username)?;
        (password.to_owned(), None)
    };
    let password_hash = hash_password_blocking(password).await?;
    let user = app
        .store
        .tenant(&caller.tenant)
        .create_user(NewUser {
            id: UserId::new(),
            username: username.clone(),
            display_name: profile.display_name,
            email: profile.email,
            roles: profile.roles,
            units: profile.units,
            password_hash,
            oidc_subject: None,
        })
        .await
        .map_err(storage_to_form)?;
    app.tenant_of(caller).require_password_change(user.id).await?;
    let detail = format!("{}; Rollen: {}", user.username, or_none(&role_labels(&user.roles)));
    audit(app, caller, "benutzer_angelegt", Some(user.id.to_string()), Some(detail), ip).await?;
    Ok((username, generated))
}

/// A tenant admin may not take over an account holding a platform role (Betrieb) they lack:
/// no editing, disabling or password reset of it.
pub fn outranks(admin: &UserRecord, user: &UserRecord) -> Result<()> {
    let foreign = user.roles.iter().any(|r| !Role::TENANT_ROLES.contains(r) && !admin.has_role(*r));
    if foreign {
        return Err(Error::Forbidden);
    }
    Ok(())
}

/// The tenant admin's form shows only the tenant roles; platform roles the user already has
/// (Betrieb) stay as they are.
pub fn keep_foreign_roles(current: &[Role], chosen: Vec<Role>) -> Vec<Role> {
    let mut roles = chosen;
    roles.extend(current.iter().copied().filter(|r| !Role::TENANT_ROLES.contains(r)));
    normalize_roles(roles)
}

/// Changes a user as `admin` (the acting person) asked.
pub async fn update_user(
    app: &App,
    caller: &Caller,
    admin: &UserRecord,
    user: &UserRecord,
    input: &UserInput,
    disabled: bool,
    ip: Option<std::net::IpAddr>,
) -> Result<()> {
    outranks(admin, user)?;
    let units = app.tenant_of(caller).list_units().await?;
    let profile = parse_profile(input, &units)?;
    let roles = keep_foreign_roles(&user.roles, profile.roles);
    if user.id == admin.id {
        if !roles.contains(&Role::Admin) {
            return Err(Error::invalid(
                "roles",
                "Rollen: Sie können sich die Rolle Mandanten-Admin nicht selbst entziehen. \
                 Bitten Sie eine andere Administratorin oder einen anderen Administrator darum.",
            ));
        }
        if disabled {
            return Err(Error::invalid("disabled", "Sie können Ihr eigenes Konto nicht deaktivieren."));
        }
    }
    let update =
        UserUpdate { display_name: profile.display_name, email: profile.email, roles, units: profile.units, disabled };
    let detail = describe_changes(user, &update, &units);
    app.tenant_of(caller).update_user(user.id, update).await.map_err(storage_to_form)?;
    audit(app, caller, "benutzer_geaendert", Some(user.id.to_string()), Some(detail), ip).await
}

/// Gives the user a new one-time password (all their sessions end); returns it, to be shown
/// once.
pub async fn reset_password(
    app: &App,
    caller: &Caller,
    admin: &UserRecord,
    user: &UserRecord,
    ip: Option<std::net::IpAddr>,
) -> Result<String> {
    outranks(admin, user)?;
    let password = one_time_password(&user.username);
    let hash = hash_password_blocking(password.clone()).await?;
    app.tenant_of(caller).set_password(user.id, &hash).await?;
    app.tenant_of(caller).require_password_change(user.id).await?;
    let detail = Some(user.username.clone());
    audit(app, caller, "passwort_zurueckgesetzt", Some(user.id.to_string()), detail, ip).await?;
    Ok(password)
}

/// What changed, for the audit log.
pub fn describe_changes(before: &UserRecord, after: &UserUpdate, units: &[UnitRecord]) -> String {
    let mut changes = Vec::new();
    if before.display_name != after.display_name {
        changes.push(format!("Name: {}", after.display_name));
    }
    if before.email != after.email {
        changes.push(format!("E-Mail: {}", after.email.as_deref().unwrap_or("keine")));
    }
    if before.roles != after.roles {
        changes.push(format!("Rollen: {}", or_none(&role_labels(&after.roles))));
    }
    let mut before_units = before.units.clone();
    before_units.sort();
    if before_units != after.units {
        let names: HashMap<UnitId, String> = units.iter().map(|u| (u.id, u.name.clone())).collect();
        changes.push(format!("Einheiten: {}", or_none(&unit_names(&after.units, &names))));
    }
    if before.disabled != after.disabled {
        changes.push(if after.disabled { "deaktiviert" } else { "wieder aktiviert" }.to_owned());
    }
    if changes.is_empty() {
        changes.push("keine Änderung".to_owned());
    }
    format!("{}: {}", before.username, changes.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::TenantId;

    fn user() -> UserRecord {
        UserRecord {
            id: UserId::new(),
            tenant: TenantId::default_tenant(),
            username: "erika".into(),
            display_name: "Erika Muster".into(),
            email: None,
            roles: vec![Role::Sachbearbeitung],
            units: Vec::new(),
            password_hash: String::new(),
            disabled: false,
            oidc_subject: None,
            failed_logins: 0,
            locked_until: None,
            password_change_required: false,
        }
    }

    #[test]
    fn platform_roles_survive_the_tenant_form() {
        assert_eq!(
            keep_foreign_roles(&[Role::Admin, Role::Betrieb], vec![Role::Admin]),
            vec![Role::Admin, Role::Betrieb]
        );
        assert_eq!(keep_foreign_roles(&[Role::Admin], vec![]), Vec::<Role>::new());
    }

    #[test]
    fn a_tenant_admin_does_not_outrank_the_platform() {
        let admin = UserRecord { roles: vec![Role::Admin], ..user() };
        let operator = UserRecord { roles: vec![Role::Admin, Role::Betrieb], ..user() };
        assert!(matches!(outranks(&admin, &operator), Err(Error::Forbidden)));
        assert!(outranks(&admin, &user()).is_ok());
        assert!(outranks(&operator, &operator).is_ok());
    }

    #[test]
    fn changes_are_described() {
        let before = user();
        let after = UserUpdate {
            display_name: "Erika Muster".into(),
            email: None,
            roles: vec![Role::Sachbearbeitung, Role::Poststelle],
            units: Vec::new(),
            disabled: true,
        };
        assert_eq!(describe_changes(&before, &after, &[]), "erika: Rollen: Sachbearbeiter:in, Poststelle; deaktiviert");
        let same = UserUpdate { roles: before.roles.clone(), disabled: false, ..after };
        assert_eq!(describe_changes(&before, &same, &[]), "erika: keine Änderung");
    }
}
