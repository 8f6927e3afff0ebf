"""НУЦ status and time services: the revocation registry, CRL, OCSP responder and RFC 3161 TSA."""
