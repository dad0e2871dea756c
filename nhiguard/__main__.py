from __future__ import annotations

from nhiguard.cli import main

raise SystemExit(main())
