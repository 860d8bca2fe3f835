"""The HTTP surface: routes and the one data handler, the front middleware (request bounds,
credentials, client rate, the request's record), security headers, CORS, the plugin files and
OpenAPI spec, the operator's probes, the JSON error, and the server runner."""
