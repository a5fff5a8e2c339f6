//! Login through an OpenID provider (authorization code + PKCE).

use crate::policy::Routes;

pub fn routes(r: Routes) -> Routes {
    r
}
