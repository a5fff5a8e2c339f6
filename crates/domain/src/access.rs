//! Who may do what: route permissions and which Vorgänge a principal sees. The web layer
//! checks [`Principal::grants`] once per route and [`Visibility::covers`] once per Vorgang;
//! the storage layer applies the same [`Visibility`] to lists and counts.

use crate::ids::{UnitId, UserId};
use crate::status::VorgangStatus;
use crate::user::Role;
use serde::{Deserialize, Serialize};

/// What a route requires. Every route of the server names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    /// Anyone: login, health, style sheet.
    Public,
    /// Form services delivering Anträge (an API token with scope `EINGANG`, or open intake).
    Intake,
    /// Any signed-in user.
    SignedIn,
    /// Read Vorgänge (within the principal's visibility).
    ReadVorgaenge,
    /// Work Vorgänge: status, Aktenzeichen, taking the next one.
    WorkVorgaenge,
    /// Distribute Vorgänge: assign a clerk, hand to another Organisationseinheit.
    Distribute,
    /// Delete Vorgänge for good (the second pair of eyes after a Löschanforderung).
    Loeschen,
    /// The tenant-wide event log: machines (API tokens that read) only.
    Integration,
    /// Tenant administration.
    TenantAdmin,
    /// The platform operator's pages.
    Operator,
}

impl Permission {
    pub const ALL: [Permission; 10] = [
        Self::Public,
        Self::Intake,
        Self::SignedIn,
        Self::ReadVorgaenge,
        Self::WorkVorgaenge,
        Self::Distribute,
        Self::Loeschen,
        Self::Integration,
        Self::TenantAdmin,
        Self::Operator,
    ];
}

/// What an API token may do; chosen when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TokenScope {
    /// Deliver Anträge (form services).
    Eingang,
    /// Read Vorgänge, documents and the event log (Fachverfahren).
    Lesen,
    /// Change Vorgänge (Fachverfahren writing back).
    Bearbeiten,
}

impl TokenScope {
    pub const ALL: [TokenScope; 3] = [Self::Eingang, Self::Lesen, Self::Bearbeiten];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eingang => "EINGANG",
            Self::Lesen => "LESEN",
            Self::Bearbeiten => "BEARBEITEN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Eingang => "Anträge einliefern",
            Self::Lesen => "Vorgänge lesen",
            Self::Bearbeiten => "Vorgänge bearbeiten",
        }
    }
}

pub fn scopes_to_text(scopes: &[TokenScope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

pub fn scopes_from_text(text: &str) -> Vec<TokenScope> {
    let mut v: Vec<TokenScope> = text.split(',').filter_map(TokenScope::parse).collect();
    v.sort();
    v.dedup();
    v
}

/// Who is asking: a signed-in person or a machine with an API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    User { id: UserId, roles: Vec<Role>, units: Vec<UnitId> },
    Token { scopes: Vec<TokenScope> },
}

impl Principal {
    pub fn has_role(&self, role: Role) -> bool {
        matches!(self, Self::User { roles, .. } if roles.contains(&role))
    }

    fn has_scope(&self, scope: TokenScope) -> bool {
        matches!(self, Self::Token { scopes } if scopes.contains(&scope))
    }

    /// The route-level rule. Object-level rules (which Vorgang) are [`Self::visibility`].
    pub fn grants(&self, permission: Permission) -> bool {
        use Role::*;
        match permission {
            Permission::Public => true,
            Permission::Intake => self.has_scope(TokenScope::Eingang),
            Permission::SignedIn => matches!(self, Self::User { .. }),
            Permission::ReadVorgaenge => {
                self.has_role(Sachbearbeitung)
                    || self.has_role(Poststelle)
                    || self.has_role(Loeschberechtigt)
                    || self.has_scope(TokenScope::Lesen)
                    || self.has_scope(TokenScope::Bearbeiten)
            }
            Permission::WorkVorgaenge => self.has_role(Sachbearbeitung) || self.has_scope(TokenScope::Bearbeiten),
            Permission::Distribute => {
                self.has_role(Sachbearbeitung) || self.has_role(Poststelle) || self.has_scope(TokenScope::Bearbeiten)
            }
            // People only: the four-eyes rule needs to know who deletes.
            Permission::Loeschen => self.has_role(Loeschberechtigt),
            Permission::Integration => self.has_scope(TokenScope::Lesen) || self.has_scope(TokenScope::Bearbeiten),
            Permission::TenantAdmin => self.has_role(Admin),
            Permission::Operator => self.has_role(Betrieb),
        }
    }

    /// Which Vorgänge of the tenant this principal sees.
    pub fn visibility(&self) -> Visibility {
        match self {
            // A Fachverfahren connected by token works for the whole tenant.
            Self::Token { .. } => Visibility::Tenant,
            Self::User { id, roles, units } => {
                let works = roles.iter().any(|r| matches!(r, Role::Sachbearbeitung | Role::Loeschberechtigt));
                Visibility::Restricted {
                    units: if works { units.clone() } else { Vec::new() },
                    user: works.then_some(*id),
                    all_new: roles.contains(&Role::Poststelle),
                }
            }
        }
    }
}

/// The Vorgänge a principal sees, as the worklist, counts and every single read apply it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Visibility {
    /// Every Vorgang of the tenant.
    Tenant,
    /// Those of `units`, those assigned to `user`, and with `all_new` every NEU one.
    Restricted { units: Vec<UnitId>, user: Option<UserId>, all_new: bool },
}

impl Visibility {
    pub fn covers(&self, unit: Option<UnitId>, assignee: Option<UserId>, status: VorgangStatus) -> bool {
        match self {
            Self::Tenant => true,
            Self::Restricted { units, user, all_new } => {
                unit.is_some_and(|u| units.contains(&u))
                    || (assignee.is_some() && assignee == *user)
                    || (*all_new && status == VorgangStatus::Neu)
            }
        }
    }

    /// Which part of the unassigned NEU pile ("Nächsten Vorgang übernehmen") this visibility
    /// covers. The pile is unassigned, so only units and "all new" can match.
    pub fn pile(&self) -> Pile<'_> {
        match self {
            Self::Tenant | Self::Restricted { all_new: true, .. } => Pile::All,
            Self::Restricted { units, .. } if units.is_empty() => Pile::Nothing,
            Self::Restricted { units, .. } => Pile::Units(units),
        }
    }

    /// Nothing at all (an admin without clerk roles): lists can skip the database.
    pub fn is_nothing(&self) -> bool {
        matches!(self, Self::Restricted { units, user: None, all_new: false } if units.is_empty())
    }
}

/// The part of the unassigned pile a visibility covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pile<'a> {
    All,
    Units(&'a [UnitId]),
    Nothing,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pile_is_what_units_and_all_new_cover() {
        let u = UnitId::new();
        assert_eq!(Visibility::Tenant.pile(), Pile::All);
        let poststelle = Visibility::Restricted { units: vec![], user: None, all_new: true };
        assert_eq!(poststelle.pile(), Pile::All);
        let clerk = Visibility::Restricted { units: vec![u], user: Some(UserId::new()), all_new: false };
        assert_eq!(clerk.pile(), Pile::Units(&[u]));
        let none = Visibility::Restricted { units: vec![], user: Some(UserId::new()), all_new: false };
        assert_eq!(none.pile(), Pile::Nothing, "own Vorgänge are never in the unassigned pile");
    }

    fn user(roles: &[Role], units: &[UnitId]) -> Principal {
        Principal::User { id: UserId::new(), roles: roles.to_vec(), units: units.to_vec() }
    }

    #[test]
    fn roles_grant_routes() {
        let clerk = user(&[Role::Sachbearbeitung], &[]);
        assert!(clerk.grants(Permission::WorkVorgaenge));
        let post = user(&[Role::Poststelle], &[]);
        assert!(post.grants(Permission::Distribute) && !post.grants(Permission::WorkVorgaenge));
        assert!(!clerk.grants(Permission::TenantAdmin));
        let admin = user(&[Role::Admin], &[]);
        assert!(!admin.grants(Permission::ReadVorgaenge));
        assert!(admin.grants(Permission::TenantAdmin));
        assert!(!admin.grants(Permission::Operator));
        let loesch = user(&[Role::Loeschberechtigt], &[]);
        assert!(loesch.grants(Permission::ReadVorgaenge) && !loesch.grants(Permission::WorkVorgaenge));
        let intake = Principal::Token { scopes: vec![TokenScope::Eingang] };
        assert!(intake.grants(Permission::Intake) && !intake.grants(Permission::ReadVorgaenge));
        assert!(!intake.grants(Permission::SignedIn));
    }

    #[test]
    fn visibility_by_unit_assignee_and_poststelle() {
        let (a, b) = (UnitId::new(), UnitId::new());
        let clerk = user(&[Role::Sachbearbeitung], &[a]);
        let vis = clerk.visibility();
        assert!(vis.covers(Some(a), None, VorgangStatus::InBearbeitung));
        assert!(!vis.covers(Some(b), None, VorgangStatus::Neu));
        assert!(!vis.covers(None, None, VorgangStatus::Neu));
        let Principal::User { id, .. } = &clerk else { unreachable!() };
        assert!(vis.covers(Some(b), Some(*id), VorgangStatus::InBearbeitung));
        let post = user(&[Role::Poststelle], &[]).visibility();
        assert!(post.covers(Some(b), None, VorgangStatus::Neu));
        assert!(!post.covers(Some(b), None, VorgangStatus::InBearbeitung));
        assert!(user(&[Role::Admin], &[a]).visibility().is_nothing());
    }
}
