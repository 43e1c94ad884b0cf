# the configuration script a gem5 run names (the stand-in does not read it)
