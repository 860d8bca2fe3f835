"""The operator's concerns: who may call (`auth`), per-client rate limits (`limits`), metrics,
the request's record and access log (`record`, `access_log`), and readiness (`health`)."""
