//! Tenant administration and the platform operator's pages.

use crate::policy::Routes;

pub fn routes(r: Routes) -> Routes {
    r
}
