from bench.noop_reconcile import main

raise SystemExit(main())
