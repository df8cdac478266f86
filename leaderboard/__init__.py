"""The static leaderboard: site builder and accepted result bundles (not built yet).

`harness leaderboard build` and `harness check SUBMISSION` arrive with their own issue; this
package only reserves the place so that the layout in DESIGN.md holds from the start.
"""
