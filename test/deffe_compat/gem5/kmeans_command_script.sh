echo "Creating command file"
cat <<EOT > cmd_options_file.txt
-i
$DEFFE_CONFIG_DIR/kdd_cup
-m
${kmeans_objects}
-k
10
EOT
