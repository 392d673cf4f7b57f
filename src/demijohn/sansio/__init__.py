"""Flask 3.1's ``flask.sansio`` package layout, for code that imports from it."""
