//! IPC$: named pipes carrying DCE/RPC (srvsvc, wkssvc).
