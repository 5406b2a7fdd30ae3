# resolv.conf without a final newline.
SCN_BACKENDS="nft"
SCN_RESOLV=no-trailing-newline.conf
