"""The web pages: a citizen's booth and wallet, a verifier's desk, a public poll page, an auditor's view
and a buyer's lookup, served by the API's own app (see :mod:`civic_ledger.web.router`).

Keys never leave the browser (keystores are opened and signed with in the page, with ethers v6), and
every check runs in the browser against an RPC URL the user chooses (default: this server's ``/rpc``)
and a deployment manifest (default: this server's, ``/deployment.json``). JavaScript libraries come
from npm (pinned in package-lock.json) and are served from ``node_modules``: nothing is loaded from
another host, so the pages work on a network with no internet.
"""
