"""`python -m sportstats check --url URL --key TESTER_KEY`: the whole path a host (ChatGPT, Claude)
runs to connect, from the operator's own machine and without a browser, each step printed, the
first failure named and the exit status non-zero. A client of the server's public surface only:
it imports nothing of the server's rooms."""
