from livesvc.cli import main

raise SystemExit(main())
