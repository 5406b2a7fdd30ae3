# KIND_DNS_SEARCH="a.example b.example": search lines replaced by one, placed first.
SCN_BACKENDS="nft"
SCN_KIND_DNS_SEARCH="a.example b.example"
