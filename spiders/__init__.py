"""newsmon's Scrapy spiders: ``source`` (everything a source declares, what
``newsmon crawl`` runs), and ``feeds``, ``sitemaps``, ``sections`` for one kind
of entry point. ``scrapy crawl source -a source=NAME [-a config=PATH]``."""
