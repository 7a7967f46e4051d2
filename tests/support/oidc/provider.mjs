// The OpenID provider of the sign-in tests: panva's oidc-provider (OpenID Certified), configured as a
// wellbeing services county's identity provider would be for this product: one first-party client using
// the authorization code flow with PKCE, JWT access tokens for the API's audience, and the staff's claims.
//
//   node provider.mjs <config.json>      prints "listening <issuer>" when it serves
//
// config.json: { "port", "clientId", "redirectUris": [...], "audience", "accessTokenTtl",
//                "accounts": { "<subject>": { claims... } }, "defaults": false }
//
// With "defaults": true the provider is left at oidc-provider's defaults for the code flow: the ID token
// carries `sub` only (profile claims come from UserInfo), access tokens are opaque, no resource indicators.
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://127.0.0.1:${config.port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: config.clientId,
    token_endpoint_auth_method: 'none',
    redirect_uris: config.redirectUris,
    post_logout_redirect_uris: config.postLogoutRedirectUris ?? [],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['test-cookie-key-not-secret'] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'groups'],
    email: ['email'],
  },
  scopes: ['openid', 'profile', 'email', 'pathways'],
  ttl: { AccessToken: config.accessTokenTtl ?? 600, IdToken: 600 },
  features: config.defaults ? { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } } : {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== config.audience) {
          throw new Error(`unknown resource ${resource}`);
        }
        return {
          scope: 'pathways',
          audience: config.audience,
          accessTokenTTL: config.accessTokenTtl ?? 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
    rpInitiatedLogout: { enabled: true },
  },
  // A first-party application of the organisation: no consent screen, the grant is given at sign-in.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      return ctx.oidc.provider.Grant.find(grantId);
    }
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email');
    if (!config.defaults) {
      grant.addOIDCClaims(['name', 'preferred_username', 'groups', 'email']);
      grant.addResourceScope(config.audience, 'pathways');
    }
    await grant.save();
    return grant;
  },
  // The staff's groups travel in the access token too, for deployments that take role and teams from claims.
  async extraTokenClaims(_ctx, token) {
    if (config.defaults) {
      return undefined;
    }
    const account = config.accounts[token.accountId];
    return account ? { groups: account.groups ?? [], preferred_username: account.preferred_username } : undefined;
  },
  async findAccount(_ctx, sub) {
    const claims = config.accounts[sub];
    if (!claims) {
      return undefined;
    }
    return { accountId: sub, claims: async () => ({ sub, ...claims }) };
  },
});
provider.proxy = false;
provider.listen(config.port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
