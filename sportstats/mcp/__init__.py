"""The MCP surface at /mcp: the streamable HTTP transport of both protocol eras (`transport`,
`wire`), apart from the methods it answers (`methods`) and the tools it exposes (`tools`)."""
