"""newsrag: semantic search and question answering over news articles."""
