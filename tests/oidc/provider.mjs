// A real OpenID Connect provider (node-oidc-provider) for the SSO tests, on 127.0.0.1 only.
//
// Environment: PORT, REDIRECT_URIS (comma-separated callback URLs of the app under test),
// KID (the signing key's id; a fresh RSA key is generated per start, so restarting with another
// KID is a key rotation). The dev login form accepts any password; the users are below.
//
// Test hooks (loopback only): POST /__test/mode with body `normal`, `tamper` (flip a byte of
// the ID token's payload) or `wrong-aud` (re-sign the ID token, correctly, for another
// audience) changes how the next /token answers are rewritten.
import crypto from 'node:crypto';
import Provider from 'oidc-provider';
import { SignJWT, importJWK, decodeJwt } from 'jose';

const port = Number(process.env.PORT || 19300);
const issuer = `http://127.0.0.1:${port}`;
const redirectUris = (process.env.REDIRECT_URIS || '').split(',').filter(Boolean);
const kid = process.env.KID || 'key-1';

const users = {
  alice: { sub: 'alice', email: 'alice@example.test', email_verified: true, name: 'Alice Test' },
  bob: { sub: 'bob', email: 'bob@example.test', email_verified: true, name: 'Bob Test' },
  carol: { sub: 'carol', email: 'carol@example.test', email_verified: false, name: 'Carol Unverified' },
  dave: { sub: 'dave', email: 'dave@example.test', email_verified: true, name: 'Dave Test' },
  // An identity whose provider asserts the app admin's email (issue 14: a provider an admin
  // points at an IdP they control must not sign in as that account).
  imposter: { sub: 'imposter', email: 'admin@example.com', email_verified: true, name: 'Not The Admin' },
};

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'backup-app',
    client_secret: 'backup-secret',
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(ctx, id) {
    const u = users[id];
    return u && { accountId: id, async claims() { return u; } };
  },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['test-cookie-key-1'] },
});

let mode = 'normal';
provider.use(async (ctx, next) => {
  if (ctx.path === '/__test/mode' && ctx.method === 'POST') {
    const chunks = [];
    for await (const c of ctx.req) chunks.push(c);
    mode = Buffer.concat(chunks).toString().trim();
    ctx.body = { mode };
    return;
  }
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body && ctx.body.id_token && mode !== 'normal') {
    const token = ctx.body.id_token;
    if (mode === 'tamper') {
      const [h, p, s] = token.split('.');
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      claims.sub = 'mallory';
      ctx.body = { ...ctx.body, id_token: [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.') };
    } else if (mode === 'wrong-aud') {
      const claims = decodeJwt(token);
      const key = await importJWK(jwk, 'RS256');
      const resigned = await new SignJWT({ ...claims, aud: 'someone-else' })
        .setProtectedHeader({ alg: 'RS256', kid })
        .sign(key);
      ctx.body = { ...ctx.body, id_token: resigned };
    }
  }
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer} (kid ${kid})`);
});
