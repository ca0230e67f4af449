"""`make bench`: every benchmark, one after the other."""

from bench import import_time, noop_reconcile

code = noop_reconcile.main()
print()
raise SystemExit(code or import_time.main())
