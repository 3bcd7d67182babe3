"""`python -m funchost start ...`"""

from .cli import main

raise SystemExit(main())
