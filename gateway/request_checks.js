// What nginx cannot compute by itself, for gateway/nginx.conf.template (njs).

const crypto = require('crypto');

// The key of the per-token rate limit: a SHA-256 of the Authorization header. nginx has
// no hash function of its own, and a limit_req zone keeps its keys in shared memory: keyed
// by the digest, nothing there can be used as a token. No header, no key (requests without
// a token are limited per address only).
function tokenDigest(r) {
    const authorization = r.headersIn.Authorization;
    return authorization
        ? crypto.createHash('sha256').update(authorization).digest('base64url')
        : '';
}

// "1" when the request has more header fields than the gateway passes on (the js_var
// $max_request_headers): gunicorn behind it refuses over 100 (nginx adds a dozen) with a
// page of its own, so the gateway refuses first, in JSON.
function tooManyHeaders(r) {
    return r.rawHeadersIn.length > Number(r.variables.max_request_headers) ? '1' : '';
}

export default {tokenDigest, tooManyHeaders};
