// What nginx cannot compute by itself, for gateway/nginx.conf.template (njs).

const crypto = require('crypto');

// The key of the per-token rate limit: a SHA-256 of the token. nginx has no hash function of
// its own, and a limit_req zone keeps its keys in shared memory: keyed by the digest, nothing
// there can be used as a token. The token, not the raw header: the services read the scheme
// in any case and split on any whitespace (travel_platform/auth/tokens.py, bearer_token),
// so `bearer`, `BeArEr` or two spaces are the same token and must drain the same bucket, or
// every spelling would be a bucket of its own. Any other header is keyed as the same kind of
// words (scheme in lower case, single spaces); no header, no key (requests without a token
// are limited per address only).
function tokenKey(authorization) {
    const words = authorization.trim().split(/\s+/);
    const scheme = words[0].toLowerCase();
    return scheme === 'bearer' && words.length === 2
        ? words[1]
        : [scheme].concat(words.slice(1)).join(' ');
}

function tokenDigest(r) {
    const authorization = r.headersIn.Authorization;
    return authorization
        ? crypto.createHash('sha256').update(tokenKey(authorization)).digest('base64url')
        : '';
}

// "1" when the request has more header fields than the gateway passes on (the js_var
// $max_request_headers): gunicorn behind it refuses over 100 (nginx adds a dozen) with a
// page of its own, so the gateway refuses first, in JSON.
function tooManyHeaders(r) {
    return r.rawHeadersIn.length > Number(r.variables.max_request_headers) ? '1' : '';
}

export default {tokenDigest, tooManyHeaders};
