echo "Creating command file"
cat <<EOT > cmd_options_file.txt
${matmul_size}
EOT
