"""The upstream stage: one client for the BALLDONTLIE API, retries inside one deadline, the
request budget (per process or shared through Redis), the circuit breaker, and the table that
turns each upstream answer into a payload or a domain failure."""
