#! /bin/bash
# One gem5 simulation of the application with the sample's caches. The framework
# substitutes ${l1d_ways} etc. before it runs; the assignments below are what a
# run by hand would use. The application's options come from the file that the
# command_file script wrote into this directory.
echo "gem5 working directory: ${PWD}"
if [[ -z "${GEM5_DIR}" ]]; then
export GEM5_DIR=/opt/gem5
fi
binary=${binary}
commandline_option=""
if [ -f "cmd_options_file.txt" ]; then
commandline_option=`cat cmd_options_file.txt`
fi
l1d_ways=2
l1d_size=16
l2_size=128
cacheline=64
$GEM5_DIR/build/RISCV/gem5.opt \
    $GEM5_DIR/configs/example/se.py \
    --cmd=${binary} \
    --cpu-type=TimingSimpleCPU \
    --options="${commandline_option}" \
    --caches --l2cache \
    --l1d_assoc=${l1d_ways} --l1d_size=${l1d_size}kB \
    --l2_size=${l2_size}kB \
    --cacheline_size=${cacheline} | tee output-gem5.log
