"""core/text"""
