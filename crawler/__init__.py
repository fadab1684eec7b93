"""The Scrapy project: settings, items, pipelines and the article stages
(extract → dedup → classify → event diff) that the pipelines run."""
