"""The static leaderboard: `harness leaderboard build` renders accepted result bundles
(`leaderboard/bundles/`, or any folder of them) into a static site; see `leaderboard.build`."""
