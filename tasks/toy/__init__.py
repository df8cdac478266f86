"""The toy CPT suite: procedurally rendered analogues of Paper A's task types."""
