// A real OpenID provider (the certified `oidc-provider` package) for ozgcloud's integration tests.
// TEST USE ONLY: plain http, development login form that accepts any login, keys made fresh at start.
//
// Environment:
//   PORT           port on 127.0.0.1 (required); the issuer is http://127.0.0.1:$PORT
//   CLIENT_ID      the one confidential client (required)
//   CLIENT_SECRET  its secret (required; sent by the relying party with client_secret_basic)
//   REDIRECT_URIS  comma-separated redirect URIs of that client (required)
//   ACCOUNTS       JSON {"<login>": {"name": "...", "ozg_roles": [...], "ozg_units": [...]}} (optional)
//   ID_TOKEN_ALG   signing algorithm of the client's ID tokens: RS256 (default) or ES256
//
// Prints `READY <issuer>` on stdout once it listens. Quits on SIGTERM/SIGINT.

import { createPrivateKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { exit, env, stdout, stderr } from 'node:process';

import Provider from 'oidc-provider';

function required(name) {
  const value = env[name];
  if (!value) {
    stderr.write(`provider.mjs: environment variable ${name} is required\n`);
    exit(2);
  }
  return value;
}

const port = Number.parseInt(required('PORT'), 10);
const clientId = required('CLIENT_ID');
const clientSecret = required('CLIENT_SECRET');
const redirectUris = required('REDIRECT_URIS')
  .split(',')
  .map((uri) => uri.trim())
  .filter(Boolean);
const idTokenAlg = env.ID_TOKEN_ALG || 'RS256';
if (!['RS256', 'ES256'].includes(idTokenAlg)) {
  stderr.write(`provider.mjs: ID_TOKEN_ALG must be RS256 or ES256, not ${idTokenAlg}\n`);
  exit(2);
}

let accounts = {};
try {
  accounts = JSON.parse(env.ACCOUNTS || '{}');
} catch (err) {
  stderr.write(`provider.mjs: ACCOUNTS is not valid JSON: ${err.message}\n`);
  exit(2);
}

function stringArray(value) {
  return Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];
}

// Fresh signing keys on every start (new kids), so a restart on the same port looks like a key rotation.
//
// The key comes out of generateKeyPairSync as DER and is re-imported before the JWK export: exporting
// the KeyObject that generateKeyPairSync returns can deadlock node 20 (a garbage collection during the
// export finalises the key-generation job, which locks the same key mutex the export holds).
function signingKey(type, options, alg) {
  const { privateKey: der } = generateKeyPairSync(type, {
    ...options,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  return { ...privateKey.export({ format: 'jwk' }), kid: `${alg.toLowerCase()}-${randomUUID()}`, alg, use: 'sig' };
}
const jwks = {
  keys: [
    signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
    signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
  ],
};

const issuer = `http://127.0.0.1:${port}`;

const configuration = {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: idTokenAlg,
    },
  ],
  jwks,
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  // Which claims each scope releases. The custom ozg_* claims ride on `profile`, so the default
  // scopes `openid profile email` carry them.
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'ozg_roles', 'ozg_units'],
  },
  // Put the scope's claims into the ID token too (not only into userinfo).
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
  },
  async findAccount(_ctx, id) {
    const account = Object.hasOwn(accounts, id) ? accounts[id] : {};
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@example.org`,
          email_verified: true,
          name: typeof account.name === 'string' ? account.name : id,
          preferred_username: id,
          ozg_roles: stringArray(account.ozg_roles),
          ozg_units: stringArray(account.ozg_units),
        };
      },
    };
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, err) => stderr.write(`provider.mjs: server_error: ${err.stack || err}\n`));

const server = provider.listen(port, '127.0.0.1', () => {
  stdout.write(`READY ${issuer}\n`);
});
server.on('error', (err) => {
  stderr.write(`provider.mjs: ${err.message}\n`);
  exit(1);
});

function shutdown() {
  server.close(() => exit(0));
  // Open keep-alive connections must not hold the process.
  server.closeAllConnections?.();
  setTimeout(() => exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
