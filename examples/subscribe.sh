#!/bin/sh
# A minimal actiond subscriber in shell: socat reads the socket, jq picks fields.
# Prints "CLIP_END STREAM LABEL SCORE" for each prediction. Usage:
#   sh subscribe.sh [SOCKET]        # default /run/actiond/predictions.sock
socket=${1:-/run/actiond/predictions.sock}
socat -u "UNIX-CONNECT:$socket" - |
    jq --unbuffered -r 'select(.type == "prediction") | "\(.clip_end) \(.stream) \(.label) \(.score)"'
