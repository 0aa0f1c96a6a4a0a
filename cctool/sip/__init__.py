"""SIP for cctool: a sans-IO calling user agent (messages, transactions, dialogs, digest auth) and
`SipTrunk`, the `cctool.trunk.Trunk` that places real calls through a carrier's SIP trunk."""
