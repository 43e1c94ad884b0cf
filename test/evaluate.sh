# Deffe's bare-minimal application: the cost is param1 * param2 * size.
param1=$param1
param2=${param2}
options=$options
echo $((param1 * param2 * options)) > results.out
