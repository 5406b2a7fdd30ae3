# Restart with a new IPv4 (.5 -> .2): whole-word rewrite of the listed files (.50 untouched),
# certificate regenerated through kubeadm.
SCN_BACKENDS="nft legacy"
SCN_MANIFESTS=1
SCN_CERTS=1
SCN_OLD_IPV4=172.30.0.5
