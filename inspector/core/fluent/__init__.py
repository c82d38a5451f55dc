"""Everything about talking to a Fluent account.

* :mod:`.profiles`: connection profiles, stored without secrets.
* :mod:`.client`: the asynchronous client (OAuth token lifecycle, GraphQL over httpx), on
  :mod:`.transport` (back-off, statuses in words) and :mod:`.request` (payload, cURL).
* :mod:`.runner`: the background event loop and the per-profile client pool; :mod:`.sync`
  the blocking facade for the CLI and worker threads.
* :mod:`.errors` / :mod:`.result`: what calls raise and return, Fluent codes explained.
* :mod:`.queries`: follow-up query templates per entity type; :mod:`.schema`: schemas for
  completion and validation (introspected, cached, or Fluent's bundled 23.10.1 one).

Import from the submodules; this package keeps no re-exports, so each name has one home.
"""
