// The key of the gateway's per-token rate limit: a SHA-256 of the Authorization header.
// nginx has no hash function of its own, and a limit_req zone keeps its keys in shared
// memory: keyed by the digest, nothing there can be used as a token. No header, no key
// (requests without a token are limited per address only).
const crypto = require('crypto');

function digest(r) {
    const authorization = r.headersIn.Authorization;
    return authorization
        ? crypto.createHash('sha256').update(authorization).digest('base64url')
        : '';
}

export default {digest};
