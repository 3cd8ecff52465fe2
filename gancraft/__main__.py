from gancraft.cli import main

raise SystemExit(main())
