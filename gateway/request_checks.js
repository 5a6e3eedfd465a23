// What nginx cannot compute by itself, for gateway/nginx.conf.template (njs).

// "1" when the request has more header fields than the gateway passes on (the js_var
// $max_request_headers): gunicorn behind it refuses over 100 (nginx adds a dozen) with a
// page of its own, so the gateway refuses first, in JSON.
function tooManyHeaders(r) {
    return r.rawHeadersIn.length > Number(r.variables.max_request_headers) ? '1' : '';
}

export default {tooManyHeaders};
