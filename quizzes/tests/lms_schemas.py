"""XML Schemas (XSD 1.1, checked with the xmlschema package) written from the formats' specifications,
for parsing every export independently of the code that writes it (no schema is fetched: none ships
in a package and the tests have no internet):

* Moodle XML: docs.moodle.org "Moodle XML format" (question types multichoice, truefalse, numerical,
  shortanswer, essay, cloze, category; their elements as Moodle's qformat_xml reads them, in any
  order), with assertions for what Moodle's importer needs of the answers (one 100 % answer of a
  single-choice question, fractions of a multiple-choice question summing to 100 %, numbers in
  numerical answers, true/false answers, embedded answers in a cloze question).
* QTI 1.2: the IMS Question & Test Interoperability ASI XML binding 1.2.1 (ims_qtiasiv1p2p1.xsd),
  the elements an assessment of these question types uses, with the binding's content models and
  attribute enumerations.
* IMS Common Cartridge 1.1: the package manifest (IMS Content Packaging 1.1.4 as profiled by CC 1.1):
  schema "IMS Common Cartridge", version 1.1.0, resources of the CC resource types.
"""

from __future__ import annotations

from functools import cache

import xmlschema

MOODLE_XSD = r"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="unqualified">
  <xs:simpleType name="Format">
    <xs:restriction base="xs:string">
      <xs:enumeration value="html"/><xs:enumeration value="moodle_auto_format"/>
      <xs:enumeration value="plain_text"/><xs:enumeration value="markdown"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Flag">
    <xs:restriction base="xs:string">
      <xs:enumeration value="0"/><xs:enumeration value="1"/>
      <xs:enumeration value="true"/><xs:enumeration value="false"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="Fraction">
    <xs:restriction base="xs:decimal"><xs:minInclusive value="-100"/><xs:maxInclusive value="100"/></xs:restriction>
  </xs:simpleType>
  <xs:simpleType name="NonNegative">
    <xs:restriction base="xs:decimal"><xs:minInclusive value="0"/></xs:restriction>
  </xs:simpleType>
  <xs:complexType name="PlainText">
    <xs:sequence><xs:element name="text" type="xs:string"/></xs:sequence>
  </xs:complexType>
  <xs:complexType name="FormattedText">
    <xs:sequence>
      <xs:element name="text" type="xs:string"/>
      <xs:element name="file" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence>
    <xs:attribute name="format" type="Format"/>
  </xs:complexType>
  <xs:complexType name="Answer">
    <xs:all>
      <xs:element name="text" type="xs:string"/>
      <xs:element name="feedback" type="FormattedText" minOccurs="0"/>
      <xs:element name="tolerance" type="NonNegative" minOccurs="0"/>
    </xs:all>
    <xs:attribute name="fraction" type="Fraction" use="required"/>
    <xs:attribute name="format" type="Format"/>
  </xs:complexType>
  <xs:complexType name="Tags">
    <xs:sequence><xs:element name="tag" type="PlainText" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
  </xs:complexType>
  <xs:complexType name="Units">
    <xs:sequence>
      <xs:element name="unit" maxOccurs="unbounded">
        <xs:complexType><xs:all>
          <xs:element name="multiplier" type="xs:decimal"/>
          <xs:element name="unit_name" type="xs:string"/>
        </xs:all></xs:complexType>
      </xs:element>
    </xs:sequence>
  </xs:complexType>

  <xs:complexType name="Category">
    <xs:all>
      <xs:element name="category" type="PlainText"/>
      <xs:element name="info" type="FormattedText" minOccurs="0"/>
      <xs:element name="idnumber" type="xs:string" minOccurs="0"/>
    </xs:all>
    <xs:attribute name="type" type="xs:string" use="required"/>
  </xs:complexType>

  <xs:complexType name="Multichoice">
    <xs:all>
      <xs:element name="name" type="PlainText"/>
      <xs:element name="questiontext" type="FormattedText"/>
      <xs:element name="generalfeedback" type="FormattedText" minOccurs="0"/>
      <xs:element name="defaultgrade" type="NonNegative" minOccurs="0"/>
      <xs:element name="penalty" type="NonNegative" minOccurs="0"/>
      <xs:element name="hidden" type="Flag" minOccurs="0"/>
      <xs:element name="idnumber" type="xs:string" minOccurs="0"/>
      <xs:element name="single" type="Flag"/>
      <xs:element name="shuffleanswers" type="Flag" minOccurs="0"/>
      <xs:element name="answernumbering" minOccurs="0">
        <xs:simpleType><xs:restriction base="xs:string">
          <xs:enumeration value="abc"/><xs:enumeration value="ABCD"/><xs:enumeration value="123"/>
          <xs:enumeration value="iii"/><xs:enumeration value="IIII"/><xs:enumeration value="none"/>
        </xs:restriction></xs:simpleType>
      </xs:element>
      <xs:element name="correctfeedback" type="FormattedText" minOccurs="0"/>
      <xs:element name="partiallycorrectfeedback" type="FormattedText" minOccurs="0"/>
      <xs:element name="incorrectfeedback" type="FormattedText" minOccurs="0"/>
      <xs:element name="answer" type="Answer" minOccurs="2" maxOccurs="unbounded"/>
      <xs:element name="hint" type="FormattedText" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="tags" type="Tags" minOccurs="0"/>
    </xs:all>
    <xs:attribute name="type" type="xs:string" use="required"/>
    <xs:assert test="if (single = ('true', '1')) then count(answer[number(@fraction) = 100]) = 1
                     else abs(sum(answer[number(@fraction) gt 0]/number(@fraction)) - 100) lt 0.01"/>
  </xs:complexType>

  <xs:complexType name="Truefalse">
    <xs:all>
      <xs:element name="name" type="PlainText"/>
      <xs:element name="questiontext" type="FormattedText"/>
      <xs:element name="generalfeedback" type="FormattedText" minOccurs="0"/>
      <xs:element name="defaultgrade" type="NonNegative" minOccurs="0"/>
      <xs:element name="penalty" type="NonNegative" minOccurs="0"/>
      <xs:element name="hidden" type="Flag" minOccurs="0"/>
      <xs:element name="idnumber" type="xs:string" minOccurs="0"/>
      <xs:element name="answer" type="Answer" minOccurs="2" maxOccurs="2"/>
      <xs:element name="hint" type="FormattedText" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="tags" type="Tags" minOccurs="0"/>
    </xs:all>
    <xs:attribute name="type" type="xs:string" use="required"/>
    <xs:assert test="every $a in answer satisfies lower-case(normalize-space($a/text)) = ('true', 'false')"/>
    <xs:assert test="count(answer[number(@fraction) = 100]) = 1"/>
  </xs:complexType>

  <xs:complexType name="Numerical">
    <xs:all>
      <xs:element name="name" type="PlainText"/>
      <xs:element name="questiontext" type="FormattedText"/>
      <xs:element name="generalfeedback" type="FormattedText" minOccurs="0"/>
      <xs:element name="defaultgrade" type="NonNegative" minOccurs="0"/>
      <xs:element name="penalty" type="NonNegative" minOccurs="0"/>
      <xs:element name="hidden" type="Flag" minOccurs="0"/>
      <xs:element name="idnumber" type="xs:string" minOccurs="0"/>
      <xs:element name="answer" type="Answer" maxOccurs="unbounded"/>
      <xs:element name="units" type="Units" minOccurs="0"/>
      <xs:element name="unitgradingtype" type="xs:integer" minOccurs="0"/>
      <xs:element name="unitpenalty" type="xs:decimal" minOccurs="0"/>
      <xs:element name="showunits" minOccurs="0">
        <xs:simpleType><xs:restriction base="xs:integer">
          <xs:minInclusive value="0"/><xs:maxInclusive value="3"/>
        </xs:restriction></xs:simpleType>
      </xs:element>
      <xs:element name="unitsleft" type="Flag" minOccurs="0"/>
      <xs:element name="hint" type="FormattedText" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="tags" type="Tags" minOccurs="0"/>
    </xs:all>
    <xs:attribute name="type" type="xs:string" use="required"/>
    <xs:assert test="every $a in answer satisfies (normalize-space($a/text) = '*'
                     or normalize-space($a/text) castable as xs:double)"/>
    <xs:assert test="count(answer[number(@fraction) = 100]) ge 1"/>
  </xs:complexType>

  <xs:complexType name="Shortanswer">
    <xs:all>
      <xs:element name="name" type="PlainText"/>
      <xs:element name="questiontext" type="FormattedText"/>
      <xs:element name="generalfeedback" type="FormattedText" minOccurs="0"/>
      <xs:element name="defaultgrade" type="NonNegative" minOccurs="0"/>
      <xs:element name="penalty" type="NonNegative" minOccurs="0"/>
      <xs:element name="hidden" type="Flag" minOccurs="0"/>
      <xs:element name="idnumber" type="xs:string" minOccurs="0"/>
      <xs:element name="usecase" type="Flag" minOccurs="0"/>
      <xs:element name="answer" type="Answer" maxOccurs="unbounded"/>
      <xs:element name="hint" type="FormattedText" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="tags" type="Tags" minOccurs="0"/>
    </xs:all>
    <xs:attribute name="type" type="xs:string" use="required"/>
    <xs:assert test="count(answer[number(@fraction) = 100]) ge 1"/>
  </xs:complexType>

  <xs:complexType name="Essay">
    <xs:all>
      <xs:element name="name" type="PlainText"/>
      <xs:element name="questiontext" type="FormattedText"/>
      <xs:element name="generalfeedback" type="FormattedText" minOccurs="0"/>
      <xs:element name="defaultgrade" type="NonNegative" minOccurs="0"/>
      <xs:element name="penalty" type="NonNegative" minOccurs="0"/>
      <xs:element name="hidden" type="Flag" minOccurs="0"/>
      <xs:element name="idnumber" type="xs:string" minOccurs="0"/>
      <xs:element name="responseformat">
        <xs:simpleType><xs:restriction base="xs:string">
          <xs:enumeration value="editor"/><xs:enumeration value="editorfilepicker"/>
          <xs:enumeration value="plain"/><xs:enumeration value="monospaced"/><xs:enumeration value="noinline"/>
        </xs:restriction></xs:simpleType>
      </xs:element>
      <xs:element name="responserequired" type="Flag" minOccurs="0"/>
      <xs:element name="responsefieldlines" type="xs:positiveInteger" minOccurs="0"/>
      <xs:element name="attachments" type="xs:integer" minOccurs="0"/>
      <xs:element name="attachmentsrequired" type="xs:integer" minOccurs="0"/>
      <xs:element name="maxwordlimit" type="xs:positiveInteger" minOccurs="0"/>
      <xs:element name="minwordlimit" type="xs:positiveInteger" minOccurs="0"/>
      <xs:element name="graderinfo" type="FormattedText" minOccurs="0"/>
      <xs:element name="responsetemplate" type="FormattedText" minOccurs="0"/>
      <xs:element name="hint" type="FormattedText" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="tags" type="Tags" minOccurs="0"/>
    </xs:all>
    <xs:attribute name="type" type="xs:string" use="required"/>
  </xs:complexType>

  <xs:complexType name="Cloze">
    <xs:all>
      <xs:element name="name" type="PlainText"/>
      <xs:element name="questiontext" type="FormattedText"/>
      <xs:element name="generalfeedback" type="FormattedText" minOccurs="0"/>
      <xs:element name="defaultgrade" type="NonNegative" minOccurs="0"/>
      <xs:element name="penalty" type="NonNegative" minOccurs="0"/>
      <xs:element name="hidden" type="Flag" minOccurs="0"/>
      <xs:element name="idnumber" type="xs:string" minOccurs="0"/>
      <xs:element name="hint" type="FormattedText" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="tags" type="Tags" minOccurs="0"/>
    </xs:all>
    <xs:attribute name="type" type="xs:string" use="required"/>
    <!-- Embedded answers: {weight:TYPE:=answer:tolerance} (NUMERICAL) or {weight:TYPE:=answer} -->
    <xs:assert test="matches(questiontext/text,
                     '\{\d*:(NUMERICAL|NM):=-?[0-9.eE+-]+:[0-9.eE+-]+\}|\{\d*:(SHORTANSWER|SA):=[^}]+\}')"/>
  </xs:complexType>

  <xs:element name="quiz">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="question" type="xs:anyType" maxOccurs="unbounded">
          <xs:alternative test="@type = 'category'" type="Category"/>
          <xs:alternative test="@type = 'multichoice'" type="Multichoice"/>
          <xs:alternative test="@type = 'truefalse'" type="Truefalse"/>
          <xs:alternative test="@type = 'numerical'" type="Numerical"/>
          <xs:alternative test="@type = 'shortanswer'" type="Shortanswer"/>
          <xs:alternative test="@type = 'essay'" type="Essay"/>
          <xs:alternative test="@type = 'cloze'" type="Cloze"/>
          <xs:alternative type="xs:error"/>
        </xs:element>
      </xs:sequence>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""

QTI_XSD = r"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="http://www.imsglobal.org/xsd/ims_qtiasiv1p2"
           targetNamespace="http://www.imsglobal.org/xsd/ims_qtiasiv1p2" elementFormDefault="qualified">
  <xs:import namespace="http://www.w3.org/XML/1998/namespace"/>
  <xs:simpleType name="YesNo">
    <xs:restriction base="xs:string"><xs:enumeration value="Yes"/><xs:enumeration value="No"/></xs:restriction>
  </xs:simpleType>

  <xs:element name="questestinterop">
    <xs:complexType><xs:sequence>
      <xs:element ref="qticomment" minOccurs="0"/>
      <xs:choice>
        <xs:element ref="assessment"/>
        <xs:choice maxOccurs="unbounded"><xs:element ref="section"/><xs:element ref="item"/></xs:choice>
      </xs:choice>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="qticomment" type="xs:string"/>

  <xs:element name="assessment">
    <xs:complexType><xs:sequence>
      <xs:element ref="qticomment" minOccurs="0"/>
      <xs:element ref="qtimetadata" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element ref="section" maxOccurs="unbounded"/>
    </xs:sequence>
    <xs:attribute name="ident" type="xs:string" use="required"/>
    <xs:attribute name="title" type="xs:string"/>
    <xs:attribute ref="xml:lang"/>
    </xs:complexType>
  </xs:element>

  <xs:element name="section">
    <xs:complexType><xs:sequence>
      <xs:element ref="qticomment" minOccurs="0"/>
      <xs:element ref="qtimetadata" minOccurs="0" maxOccurs="unbounded"/>
      <xs:choice minOccurs="0" maxOccurs="unbounded"><xs:element ref="item"/><xs:element ref="section"/></xs:choice>
    </xs:sequence>
    <xs:attribute name="ident" type="xs:string" use="required"/>
    <xs:attribute name="title" type="xs:string"/>
    <xs:attribute ref="xml:lang"/>
    </xs:complexType>
  </xs:element>

  <xs:element name="qtimetadata">
    <xs:complexType><xs:sequence>
      <xs:element name="vocabulary" type="xs:string" minOccurs="0"/>
      <xs:element ref="qtimetadatafield" maxOccurs="unbounded"/>
    </xs:sequence></xs:complexType>
  </xs:element>
  <xs:element name="qtimetadatafield">
    <xs:complexType><xs:sequence>
      <xs:element name="fieldlabel" type="xs:string"/>
      <xs:element name="fieldentry" type="xs:string"/>
    </xs:sequence><xs:attribute ref="xml:lang"/></xs:complexType>
  </xs:element>

  <xs:element name="item">
    <xs:complexType><xs:sequence>
      <xs:element ref="qticomment" minOccurs="0"/>
      <xs:element name="itemmetadata" minOccurs="0">
        <xs:complexType><xs:sequence><xs:element ref="qtimetadata" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:complexType>
      </xs:element>
      <xs:element ref="presentation" minOccurs="0"/>
      <xs:element ref="resprocessing" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element ref="itemfeedback" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence>
    <xs:attribute name="ident" type="xs:string" use="required"/>
    <xs:attribute name="title" type="xs:string"/>
    <xs:attribute name="maxattempts" type="xs:string"/>
    <xs:attribute name="label" type="xs:string"/>
    <xs:attribute ref="xml:lang"/>
    </xs:complexType>
  </xs:element>

  <xs:element name="presentation">
    <xs:complexType><xs:sequence>
      <xs:element ref="qticomment" minOccurs="0"/>
      <xs:choice maxOccurs="unbounded">
        <xs:element ref="material"/><xs:element ref="response_lid"/><xs:element ref="response_str"/>
        <xs:element ref="response_num"/>
      </xs:choice>
    </xs:sequence>
    <xs:attribute name="label" type="xs:string"/>
    <xs:attribute ref="xml:lang"/>
    </xs:complexType>
  </xs:element>

  <xs:element name="material">
    <xs:complexType><xs:sequence>
      <xs:element ref="qticomment" minOccurs="0"/>
      <xs:element ref="mattext" maxOccurs="unbounded"/>
      <!-- The same material in another language (xml:lang). -->
      <xs:element name="altmaterial" minOccurs="0" maxOccurs="unbounded">
        <xs:complexType><xs:sequence>
          <xs:element ref="qticomment" minOccurs="0"/>
          <xs:element ref="mattext" maxOccurs="unbounded"/>
        </xs:sequence><xs:attribute ref="xml:lang"/></xs:complexType>
      </xs:element>
    </xs:sequence>
    <xs:attribute name="label" type="xs:string"/>
    <xs:attribute ref="xml:lang"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="mattext">
    <xs:complexType><xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="texttype" type="xs:string" default="text/plain"/>
      <xs:attribute name="label" type="xs:string"/>
      <xs:attribute name="charset" type="xs:string"/>
      <xs:attribute name="uri" type="xs:string"/>
      <xs:attribute ref="xml:lang"/>
    </xs:extension></xs:simpleContent></xs:complexType>
  </xs:element>

  <xs:complexType name="Response">
    <xs:sequence>
      <xs:element ref="material" minOccurs="0"/>
      <xs:choice><xs:element ref="render_choice"/><xs:element ref="render_fib"/></xs:choice>
      <xs:element ref="material" minOccurs="0"/>
    </xs:sequence>
    <xs:attribute name="ident" type="xs:string" use="required"/>
    <xs:attribute name="rcardinality" default="Single">
      <xs:simpleType><xs:restriction base="xs:string">
        <xs:enumeration value="Single"/><xs:enumeration value="Multiple"/><xs:enumeration value="Ordered"/>
      </xs:restriction></xs:simpleType>
    </xs:attribute>
    <xs:attribute name="rtiming" type="YesNo"/>
  </xs:complexType>
  <xs:element name="response_lid" type="Response"/>
  <xs:element name="response_str" type="Response"/>
  <xs:element name="response_num">
    <xs:complexType><xs:complexContent><xs:extension base="Response">
      <xs:attribute name="numtype" default="Integer">
        <xs:simpleType><xs:restriction base="xs:string">
          <xs:enumeration value="Integer"/><xs:enumeration value="Decimal"/><xs:enumeration value="Scientific"/>
        </xs:restriction></xs:simpleType>
      </xs:attribute>
    </xs:extension></xs:complexContent></xs:complexType>
  </xs:element>

  <xs:element name="render_choice">
    <xs:complexType><xs:choice minOccurs="0" maxOccurs="unbounded">
      <xs:element ref="material"/><xs:element ref="response_label"/>
    </xs:choice>
    <xs:attribute name="shuffle" type="YesNo" default="No"/>
    <xs:attribute name="minnumber" type="xs:string"/>
    <xs:attribute name="maxnumber" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="render_fib">
    <xs:complexType><xs:choice minOccurs="0" maxOccurs="unbounded">
      <xs:element ref="material"/><xs:element ref="response_label"/>
    </xs:choice>
    <xs:attribute name="fibtype" default="String">
      <xs:simpleType><xs:restriction base="xs:string">
        <xs:enumeration value="String"/><xs:enumeration value="Integer"/><xs:enumeration value="Decimal"/>
        <xs:enumeration value="Scientific"/>
      </xs:restriction></xs:simpleType>
    </xs:attribute>
    <xs:attribute name="prompt" type="xs:string"/>
    <xs:attribute name="encoding" type="xs:string"/>
    <xs:attribute name="rows" type="xs:string"/>
    <xs:attribute name="columns" type="xs:string"/>
    <xs:attribute name="maxchars" type="xs:string"/>
    <xs:attribute name="charset" type="xs:string"/>
    <xs:attribute name="minnumber" type="xs:string"/>
    <xs:attribute name="maxnumber" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="response_label">
    <xs:complexType mixed="true"><xs:choice minOccurs="0" maxOccurs="unbounded">
      <xs:element ref="qticomment"/><xs:element ref="material"/><xs:element ref="flow_mat"/>
    </xs:choice>
    <xs:attribute name="ident" type="xs:string" use="required"/>
    <xs:attribute name="rshuffle" type="YesNo" default="Yes"/>
    <xs:attribute name="rarea" type="xs:string"/>
    <xs:attribute name="rrange" type="xs:string"/>
    <xs:attribute name="labelrefid" type="xs:string"/>
    <xs:attribute name="match_group" type="xs:string"/>
    <xs:attribute name="match_max" type="xs:string"/>
    </xs:complexType>
  </xs:element>

  <xs:element name="resprocessing">
    <xs:complexType><xs:sequence>
      <xs:element ref="qticomment" minOccurs="0"/>
      <xs:element name="outcomes">
        <xs:complexType><xs:sequence>
          <xs:element ref="qticomment" minOccurs="0"/>
          <xs:element ref="decvar" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element ref="respcondition" maxOccurs="unbounded"/>
    </xs:sequence>
    <xs:attribute name="scoremodel" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="decvar">
    <xs:complexType><xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="varname" type="xs:string" default="SCORE"/>
      <xs:attribute name="vartype" default="Integer">
        <xs:simpleType><xs:restriction base="xs:string">
          <xs:enumeration value="Integer"/><xs:enumeration value="String"/><xs:enumeration value="Decimal"/>
          <xs:enumeration value="Scientific"/><xs:enumeration value="Boolean"/><xs:enumeration value="Enumerated"/>
          <xs:enumeration value="Set"/>
        </xs:restriction></xs:simpleType>
      </xs:attribute>
      <xs:attribute name="defaultval" type="xs:string"/>
      <xs:attribute name="minvalue" type="xs:decimal"/>
      <xs:attribute name="maxvalue" type="xs:decimal"/>
      <xs:attribute name="members" type="xs:string"/>
      <xs:attribute name="cutvalue" type="xs:string"/>
    </xs:extension></xs:simpleContent></xs:complexType>
  </xs:element>
  <xs:element name="respcondition">
    <xs:complexType><xs:sequence>
      <xs:element ref="qticomment" minOccurs="0"/>
      <xs:element name="conditionvar" type="Conditions"/>
      <xs:element ref="setvar" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="displayfeedback" minOccurs="0" maxOccurs="unbounded">
        <xs:complexType><xs:simpleContent><xs:extension base="xs:string">
          <xs:attribute name="feedbacktype" type="xs:string" default="Response"/>
          <xs:attribute name="linkrefid" type="xs:string" use="required"/>
        </xs:extension></xs:simpleContent></xs:complexType>
      </xs:element>
    </xs:sequence>
    <xs:attribute name="continue" type="YesNo" default="No"/>
    <xs:attribute name="title" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:group name="Condition">
    <xs:choice>
      <xs:element name="not" type="OneCondition"/>
      <xs:element name="and" type="Conditions"/>
      <xs:element name="or" type="Conditions"/>
      <xs:element name="unanswered" type="Var"/>
      <xs:element name="other"><xs:complexType/></xs:element>
      <xs:element name="varequal" type="VarCase"/>
      <xs:element name="varlt" type="NumberVar"/>
      <xs:element name="varlte" type="NumberVar"/>
      <xs:element name="vargt" type="NumberVar"/>
      <xs:element name="vargte" type="NumberVar"/>
    </xs:choice>
  </xs:group>
  <xs:complexType name="Conditions"><xs:group ref="Condition" maxOccurs="unbounded"/></xs:complexType>
  <xs:complexType name="OneCondition"><xs:group ref="Condition"/></xs:complexType>
  <xs:complexType name="Var">
    <xs:simpleContent><xs:extension base="xs:string">
      <xs:attribute name="respident" type="xs:string" use="required"/>
      <xs:attribute name="index" type="xs:string"/>
    </xs:extension></xs:simpleContent>
  </xs:complexType>
  <xs:complexType name="VarCase">
    <xs:simpleContent><xs:extension base="Var">
      <xs:attribute name="case" type="YesNo" default="No"/>
    </xs:extension></xs:simpleContent>
  </xs:complexType>
  <xs:complexType name="NumberVar">
    <!-- The binding types these as strings; a range bound compared with a number must be one. -->
    <xs:simpleContent><xs:extension base="xs:double">
      <xs:attribute name="respident" type="xs:string" use="required"/>
      <xs:attribute name="index" type="xs:string"/>
    </xs:extension></xs:simpleContent>
  </xs:complexType>
  <xs:element name="setvar">
    <xs:complexType><xs:simpleContent><xs:extension base="xs:decimal">
      <xs:attribute name="varname" type="xs:string" default="SCORE"/>
      <xs:attribute name="action" default="Set">
        <xs:simpleType><xs:restriction base="xs:string">
          <xs:enumeration value="Set"/><xs:enumeration value="Add"/><xs:enumeration value="Subtract"/>
          <xs:enumeration value="Multiply"/><xs:enumeration value="Divide"/>
        </xs:restriction></xs:simpleType>
      </xs:attribute>
    </xs:extension></xs:simpleContent></xs:complexType>
  </xs:element>

  <xs:element name="itemfeedback">
    <xs:complexType><xs:choice maxOccurs="unbounded">
      <xs:element ref="flow_mat"/><xs:element ref="material"/>
    </xs:choice>
    <xs:attribute name="ident" type="xs:string" use="required"/>
    <xs:attribute name="title" type="xs:string"/>
    <xs:attribute name="view" type="xs:string"/>
    </xs:complexType>
  </xs:element>
  <xs:element name="flow_mat">
    <xs:complexType><xs:sequence>
      <xs:element ref="qticomment" minOccurs="0"/>
      <xs:choice maxOccurs="unbounded"><xs:element ref="flow_mat"/><xs:element ref="material"/></xs:choice>
    </xs:sequence><xs:attribute name="class" type="xs:string"/></xs:complexType>
  </xs:element>
</xs:schema>
"""

CC_MANIFEST_XSD = r"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1"
           targetNamespace="http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1" elementFormDefault="qualified">
  <xs:element name="manifest">
    <xs:complexType><xs:sequence>
      <xs:element name="metadata">
        <xs:complexType><xs:sequence>
          <xs:element name="schema">
            <xs:simpleType><xs:restriction base="xs:string"><xs:enumeration value="IMS Common Cartridge"/></xs:restriction></xs:simpleType>
          </xs:element>
          <xs:element name="schemaversion">
            <xs:simpleType><xs:restriction base="xs:string"><xs:enumeration value="1.1.0"/></xs:restriction></xs:simpleType>
          </xs:element>
          <xs:any namespace="##other" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="organizations">
        <xs:complexType><xs:sequence>
          <xs:any namespace="##targetNamespace" processContents="skip" minOccurs="0" maxOccurs="1"/>
        </xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="resources">
        <xs:complexType><xs:sequence>
          <xs:element name="resource" minOccurs="0" maxOccurs="unbounded">
            <xs:complexType><xs:sequence>
              <xs:element name="file" minOccurs="0" maxOccurs="unbounded">
                <xs:complexType><xs:attribute name="href" type="xs:anyURI" use="required"/></xs:complexType>
              </xs:element>
              <xs:element name="dependency" minOccurs="0" maxOccurs="unbounded">
                <xs:complexType><xs:attribute name="identifierref" type="xs:IDREF" use="required"/></xs:complexType>
              </xs:element>
            </xs:sequence>
            <xs:attribute name="identifier" type="xs:ID" use="required"/>
            <xs:attribute name="type" use="required">
              <xs:simpleType><xs:restriction base="xs:string">
                <xs:enumeration value="webcontent"/>
                <xs:enumeration value="associatedcontent/imscc_xmlv1p1/learning-application-resource"/>
                <xs:enumeration value="imsdt_xmlv1p1"/>
                <xs:enumeration value="imswl_xmlv1p1"/>
                <xs:enumeration value="imsqti_xmlv1p2/imscc_xmlv1p1/assessment"/>
                <xs:enumeration value="imsqti_xmlv1p2/imscc_xmlv1p1/question-bank"/>
                <xs:enumeration value="imsbasiclti_xmlv1p0"/>
              </xs:restriction></xs:simpleType>
            </xs:attribute>
            <xs:attribute name="href" type="xs:anyURI"/>
            </xs:complexType>
          </xs:element>
        </xs:sequence></xs:complexType>
      </xs:element>
    </xs:sequence>
    <xs:attribute name="identifier" type="xs:ID" use="required"/>
    <xs:attribute name="version" type="xs:string"/>
    </xs:complexType>
  </xs:element>
</xs:schema>
"""


@cache
def moodle_schema() -> xmlschema.XMLSchema11:
    return xmlschema.XMLSchema11(MOODLE_XSD)


@cache
def qti_schema() -> xmlschema.XMLSchema11:
    return xmlschema.XMLSchema11(QTI_XSD)


@cache
def cc_manifest_schema() -> xmlschema.XMLSchema11:
    return xmlschema.XMLSchema11(CC_MANIFEST_XSD)
