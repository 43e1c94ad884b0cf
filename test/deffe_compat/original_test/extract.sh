#! /bin/bash
# Nothing to post-process: the evaluation wrote results.out itself.
