"""The static leaderboard: site builder and accepted result bundles (not built yet).

`harness leaderboard build` and `harness check SUBMISSION` arrive with their own issue; this
package reserves their place beside `harness/`, `tasks/` and `baselines/`.
"""
