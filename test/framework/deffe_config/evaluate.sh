param1="$param1"
param2="$param2"
options="$options"
echo $((param1 * param2 * options)) > results.out
