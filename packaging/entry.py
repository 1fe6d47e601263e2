"""The frozen program's entry point: the same ``main`` as the ``aipopup`` console script."""

from aipopup.__main__ import main

if __name__ == "__main__":
    main()
