# New IPv4 on a worker (no apiserver certificate): files rewritten, kubeadm not called.
SCN_BACKENDS="nft"
SCN_MANIFESTS=1
SCN_OLD_IPV4=172.30.0.5
